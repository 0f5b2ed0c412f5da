"""Bar charts drawn on the server as SVG (no JavaScript): for each line, a bar of what is needed
with what is funded drawn over it, the name at the line's start and the percentage funded at its
end; mirrored for right-to-left languages. The template (funding/chart.html) writes the SVG from
the geometry computed here."""

from dataclasses import dataclass
from decimal import Decimal

WIDTH = 320  # the viewBox's width; the SVG scales to its column
LEGEND = 28  # height of the legend above the bars
ROW = 46  # height of one line: its text, then its bar
BAR = 16


@dataclass
class Bar:
    name: str
    percent: Decimal
    text_y: int
    bar_y: int
    needed_x: str
    needed_width: str
    funded_x: str
    funded_width: str
    pooled: bool = False


@dataclass
class Chart:
    width: int
    height: int
    rtl: bool
    bars: list[Bar]
    start_x: int  # where the text of a line starts (the right edge in RTL)
    end_x: int
    keys: tuple[tuple[int, int], tuple[int, int]]  # the legend's (square x, text x): needed, funded


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def chart(lines, *, rtl: bool, pooled=None) -> Chart:
    """`lines` (and the optional pooled line, drawn last) as bars on one scale: the largest
    amount needed spans the whole width."""
    rows = [(line, False) for line in lines] + ([(pooled, True)] if pooled else [])
    largest = max((line.needed for line, _ in rows), default=Decimal(0)) or Decimal(1)
    bars = []
    for i, (line, is_pooled) in enumerate(rows):
        top = LEGEND + i * ROW
        needed = float(line.needed / largest) * WIDTH
        funded = min(float(line.funded / largest) * WIDTH, needed)
        bars.append(
            Bar(
                name=line.name,
                percent=line.percent,
                text_y=top + 15,
                bar_y=top + 22,
                needed_x=_n(WIDTH - needed if rtl else 0),
                needed_width=_n(needed),
                funded_x=_n(WIDTH - funded if rtl else 0),
                funded_width=_n(funded) if funded > 0 else "",
                pooled=is_pooled,
            )
        )
    return Chart(
        width=WIDTH,
        height=LEGEND + len(rows) * ROW,
        rtl=rtl,
        bars=bars,
        start_x=WIDTH if rtl else 0,
        end_x=0 if rtl else WIDTH,
        keys=(_key(0, rtl), _key(140, rtl)),
    )


def _key(offset: int, rtl: bool) -> tuple[int, int]:
    """A legend key `offset` from the start: its square's x and its text's x."""
    return (WIDTH - offset - 12, WIDTH - offset - 18) if rtl else (offset, offset + 18)
