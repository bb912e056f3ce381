"""Running the pipeline: Faust app and agents, topics, the embedded broker, the demo."""
