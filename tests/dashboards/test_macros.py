"""Macro expansion against the plugin's own test vectors (pkg/macros/macros_test.go) and the
frontend's $__conditionalAll and Grafana's variable formats."""

from __future__ import annotations

import pytest

from streamer.dashboards.macros import (
    ALL, MacroError, QueryContext, Variable, apply_conditional_all, expand, expand_macros,
    format_interval, format_value, interpolate_variables, leftovers, round_interval,
)
from streamer.timeutil import parse_time

FROM = parse_time("2014-11-12T11:45:26.371Z")
TO = parse_time("2015-11-12T11:45:26.371Z")
CTX = QueryContext(FROM, TO, interval_ms=20000)


@pytest.mark.parametrize("sql, want", [
    ("$__fromTime", "toDateTime(1415792726)"),
    ("$__toTime", "toDateTime(1447328726)"),
    ("$__fromTime_ms", "fromUnixTimestamp64Milli(1415792726371)"),
    ("$__toTime_ms", "fromUnixTimestamp64Milli(1447328726371)"),
    ("$__dateFilter(dateCol)", "dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')"),
    ("$__dateTimeFilter(dateCol, timeCol)",
     "(dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')) AND "
     "(timeCol >= toDateTime(1415792726) AND timeCol <= toDateTime(1447328726))"),
    ("$__dt(dateCol, timeCol)",
     "(dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')) AND "
     "(timeCol >= toDateTime(1415792726) AND timeCol <= toDateTime(1447328726))"),
    ("select $__timeInterval(col) from foo", "select toStartOfInterval(toDateTime(col), INTERVAL 20 second) from foo"),
    ("select $__timeInterval_ms(col) from foo",
     "select toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond) from foo"),
    ("select toStartOfInterval(col, INTERVAL $__interval_s second) AS time from foo",
     "select toStartOfInterval(col, INTERVAL 20 second) AS time from foo"),
])
def test_plugin_vectors(sql, want):
    assert expand_macros(sql, CTX) == want


def test_interpolate_vectors():
    ctx = QueryContext(parse_time("2014-11-12T11:45:26.123Z"), parse_time("2015-11-12T11:45:26.456Z"))
    cases = {
        "select * from foo where $__timeFilter(cast(sth as timestamp))":
            "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND "
            "cast(sth as timestamp) <= toDateTime(1447328726)",
        "select * from foo where $__timeFilter(cast(sth as timestamp) )":
            "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND "
            "cast(sth as timestamp) <= toDateTime(1447328726)",
        "select * from foo where $__timeFilter_ms(cast(sth as timestamp))":
            "select * from foo where cast(sth as timestamp) >= fromUnixTimestamp64Milli(1415792726123) AND "
            "cast(sth as timestamp) <= fromUnixTimestamp64Milli(1447328726456)",
        "select * from foo where ( date >= $__fromTime and date <= $__toTime ) limit 100":
            "select * from foo where ( date >= toDateTime(1415792726) and date <= toDateTime(1447328726) ) limit 100",
        "select * from foo where ( date >= $__fromTime_ms ) and ( date <= $__toTime_ms ) limit 100":
            "select * from foo where ( date >= fromUnixTimestamp64Milli(1415792726123) ) and "
            "( date <= fromUnixTimestamp64Milli(1447328726456) ) limit 100",
    }
    for sql, want in cases.items():
        assert expand(sql, ctx) == want


def test_interval_never_below_one_second():
    ctx = QueryContext(FROM, TO, interval_ms=200)
    assert expand_macros("$__interval_s", ctx) == "1"
    assert expand_macros("$__timeInterval(t)", ctx) == "toStartOfInterval(toDateTime(t), INTERVAL 1 second)"


@pytest.mark.parametrize("sql", ["$__timeFilter", "$__timeFilter(a, b)", "$__dateTimeFilter(a)"])
def test_bad_argument_count(sql):
    with pytest.raises(MacroError, match="unexpected number of arguments"):
        expand_macros(sql, CTX)


def test_missing_close_bracket():
    with pytest.raises(MacroError, match="missing close bracket"):
        expand_macros("where $__timeFilter(a", CTX)


def test_longer_macro_names_win_and_unknown_macros_stay():
    assert expand_macros("$__timeFilter_ms(t)", CTX).startswith("t >= fromUnixTimestamp64Milli(")
    assert expand_macros("$__unknown(t)", CTX) == "$__unknown(t)"


def _vars(**values):
    return {k: Variable(k, v, options=("a", "b")) for k, v in values.items()}


def test_conditional_all():
    sql = "select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal);"
    assert apply_conditional_all(sql, _vars(fieldVal=ALL)) == "select stuff from table where 1=1;"
    assert apply_conditional_all(sql, _vars(fieldVal=[ALL])) == "select stuff from table where 1=1;"
    assert apply_conditional_all(sql, _vars(fieldVal="")) == "select stuff from table where 1=1;"
    assert (apply_conditional_all(sql, _vars(fieldVal="'val1', 'val2'"))
            == "select stuff from table where fieldVal in ($fieldVal);")
    two = ("select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal) "
           "and $__conditionalAll(fieldVal in ($fieldVal2), $fieldVal2);")
    got = apply_conditional_all(two, _vars(fieldVal=["x"], fieldVal2=ALL))
    assert got == "select stuff from table where fieldVal in ($fieldVal) and 1=1;"
    # braces form; an undefined variable keeps the condition
    assert apply_conditional_all("$__conditionalAll(a = 1, ${v})", _vars(v=ALL)) == "1=1"
    assert apply_conditional_all("$__conditionalAll(a = 1, $nope)", {}) == "a = 1"


@pytest.mark.parametrize("fmt, value, want", [
    (None, ["a", "b"], "'a','b'"),
    (None, "o'k", "o'k"),
    ("csv", ["a", "b"], "a,b"),
    ("singlequote", ["a", "o'k"], "'a','o\\'k'"),
    ("singlequote", "x", "'x'"),
    ("sqlstring", ["a", "o'k"], "'a','o''k'"),
    ("raw", ["a", "b"], "a,b"),
    ("raw", "x", "x"),
    ("doublequote", ["a"], '"a"'),
    ("pipe", ["a", "b"], "a|b"),
    ("json", ["a", "b"], '["a","b"]'),
])
def test_formats(fmt, value, want):
    assert format_value(value, fmt) == want


def test_unknown_format():
    with pytest.raises(MacroError):
        format_value("x", "nonsense")


def test_variables_all_and_custom_all_value():
    ctx = QueryContext(FROM, TO, variables={
        "sev": Variable("sev", ALL, options=("high", "low")),
        "dep": Variable("dep", [ALL], options=("x",), all_value=".*"),
        "u": Variable("u", "jdoe"),
    })
    sql = "a IN (${sev:sqlstring}) AND b = '$dep' AND c = ${u:sqlstring} AND d = [[u]] AND e IN ($sev)"
    assert interpolate_variables(sql, ctx) == (
        "a IN ('high','low') AND b = '.*' AND c = 'jdoe' AND d = jdoe AND e IN ('high','low')")


def test_builtins_and_interval():
    ctx = QueryContext(0, 3600_000, max_data_points=1000)
    assert ctx.interval == round_interval(3600) == 5000
    assert interpolate_variables("$__from $__to $__interval $__interval_ms $__range_s", ctx) == (
        "0 3600000 5s 5000 3600")
    assert format_interval(60000) == "1m" and format_interval(500) == "500ms"


def test_full_pipeline_and_leftovers():
    ctx = QueryContext(FROM, TO, interval_ms=60000, variables={"sev": Variable("sev", ["high"], ("high", "low"))})
    sql = ("SELECT $__timeInterval(t) AS time FROM x WHERE $__timeFilter(t) "
           "AND $__conditionalAll(severity IN (${sev:sqlstring}), $sev) AND note != '$notvar'")
    got = expand(sql, ctx)
    assert "severity IN ('high')" in got and "INTERVAL 60 second" in got
    assert leftovers(got) == []
    assert leftovers("WHERE x = $missing") == ["$missing"]
