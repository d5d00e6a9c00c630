"""The charts of report.pdf, drawn with reportlab.graphics.

Both charts stack the channels (paper, SMS, phone) in fixed colours with a legend, and
their size depends only on how many bars they hold, never on how many records exist.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from hybrid.results.report_labels import CHANNEL_DE, number
from hybrid.results.report_layout import CHANNEL_COLOURS, GREY, SANS, SANS_BOLD, register_fonts, shorten

LABEL_PT = 7.5
ROW_PT = 21  # one option: two lines of label and a bar


def nice_axis(largest: int, ticks: int = 5) -> tuple[int, int]:
    """(axis maximum, step) for an axis from 0 that shows `largest` in about `ticks` steps."""
    if largest <= 0:
        return 1, 1
    raw = largest / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(1, int(math.ceil(step)))
    return step * math.ceil(largest / step), step


def _legend(channels: Sequence[str], x: float, y: float) -> Legend:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.alignment = "right"
    legend.boxAnchor = "nw"
    legend.columnMaximum = 1
    legend.dx = legend.dy = 7
    legend.deltax = 70
    legend.fontName, legend.fontSize = SANS, 8
    legend.strokeColor = None
    legend.colorNamePairs = [(CHANNEL_COLOURS[c], CHANNEL_DE[c]) for c in channels]
    return legend


def option_bars(labels: Sequence[str], counts: Mapping[str, Sequence[int]], channels: Sequence[str],
                width: float) -> Drawing:
    """One horizontal bar per option (first on top), stacked by channel, its total printed
    at its end. `labels` are shortened to two lines; `counts[channel][i]` is option i."""
    register_fonts()
    n = len(labels)
    label_w = min(190.0, width * 0.4)
    totals = [sum(counts[c][i] for c in channels) for i in range(n)]
    top, bottom = 18.0, 18.0  # legend above, value axis below
    height = n * ROW_PT
    drawing = Drawing(width, height + top + bottom)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_w + 6, bottom
    total_w = stringWidth(number(max(totals, default=0)), SANS_BOLD, LABEL_PT) + 8
    chart.width, chart.height = width - chart.x - total_w, height
    chart.data = [list(counts[c]) for c in channels] or [[0] * n]
    chart.categoryAxis.categoryNames = [shorten(t, SANS, LABEL_PT, label_w) for t in labels]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.reverseDirection = 1
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = SANS, LABEL_PT
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.textAnchor = "end"
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.labels.leading = LABEL_PT * 1.2
    chart.categoryAxis.visibleTicks = 0
    chart.groupSpacing = 7
    top_value = _counts_axis_and_colours(chart, channels, max(totals, default=0))
    drawing.add(chart)
    slot = height / max(n, 1)
    for i, total in enumerate(totals):
        x = chart.x + chart.width * total / top_value + 3
        y = chart.y + height - (i + 0.5) * slot - LABEL_PT / 3
        text = number(total)
        # A white ground keeps the total readable where a grid line runs through it.
        drawing.add(Rect(x - 1, y - 2, stringWidth(text, SANS_BOLD, LABEL_PT) + 2, LABEL_PT + 3,
                         fillColor=colors.white, strokeColor=None))
        drawing.add(String(x, y, text, fontName=SANS_BOLD, fontSize=LABEL_PT))
    drawing.add(_legend(channels, chart.x, height + bottom + top - 2))
    return drawing


def _counts_axis_and_colours(chart, channels: Sequence[str], largest: int, **axis) -> float:
    """The value axis both charts share (counts, a light grid) and a colour per channel;
    returns the axis's top value."""
    top_value, step = nice_axis(largest, **axis)
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, top_value, step
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = SANS, 7
    chart.valueAxis.labelTextFormat = lambda v: number(int(v))
    chart.valueAxis.visibleGrid = 1
    chart.valueAxis.gridStrokeColor = GREY
    chart.valueAxis.gridStrokeWidth = 0.2
    for index, channel in enumerate(channels):
        chart.bars[index].fillColor = CHANNEL_COLOURS[channel]
        chart.bars[index].strokeColor = None
    return top_value


BAR_LABEL_PT = 8.0  # the day under every bar of the returns chart: legible printed at 100 %


def returns_bars(labels: Sequence[str], counts: Mapping[str, Sequence[int]], channels: Sequence[str],
                 width: float, height: float = 150) -> Drawing:
    """Vertical bars over time, stacked by channel, every bar labelled upright in
    BAR_LABEL_PT (the caller keeps the bars few enough: `report_figures.MAX_BARS`)."""
    register_fonts()
    n = len(labels)
    names = list(labels)
    bottom, top = max((stringWidth(name, SANS, BAR_LABEL_PT) for name in names), default=0) + 10, 18.0
    drawing = Drawing(width, height + bottom + top)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 34, bottom, width - 40, height
    chart.data = [list(counts[c]) for c in channels] or [[0] * n]
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = SANS, BAR_LABEL_PT
    chart.categoryAxis.labels.angle = 90
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dy = -2
    chart.categoryAxis.visibleTicks = 0
    chart.groupSpacing = 1.5 if n > 31 else 3
    totals = [sum(counts[c][i] for c in channels) for i in range(n)]
    _counts_axis_and_colours(chart, channels, max(totals, default=0), ticks=4)
    drawing.add(chart)
    drawing.add(_legend(channels, chart.x, height + bottom + top - 2))
    return drawing
