"""A giving statement as a PDF a person can file (fpdf2: pure Python).

Fonts ship in ``fonts/`` with their licences: DejaVu Sans (Latin, Cyrillic, most of the Arabic
script) and, for what it lacks (Pashto's ۍ, ...), Noto Naskh Arabic as a fallback. Arabic-script
names (Dari, Pashto) are shaped and laid right to left by HarfBuzz (uharfbuzz) when it is
installed; without it they are still drawn, unjoined. A character no font has is left out (fpdf2
warns), never an error: a name in any script renders.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONTS = Path(__file__).resolve().parent / "fonts"
MAIN, FALLBACK = "DejaVuSans", "NotoNaskhArabic"
# One regular face only (no bold file shipped): headings are shaded instead.
HEADINGS = FontFace(emphasis="", fill_color=(225, 225, 225))
logger = logging.getLogger(__name__)
# fontTools logs every step of subsetting the fonts at INFO: not news for an operator.
logging.getLogger("fontTools").setLevel(logging.WARNING)

KIND_LABELS = {
    "pledge": "Pledge",
    "commitment": "Commitment",
    "disbursement": "Tranche",
    "refund": "Refund",
}
HOW_TO_READ = (
    "How to read this statement. Each line is one movement of your money in the calendar year "
    "(UTC). Pledge: money you offered (a reduction, withdrawal or expiry is a negative line). "
    "Commitment: part of a pledge committed to a need of an organization (a release is "
    "negative). Tranche: money sent to the organization, dated by its value date; 'received' "
    "means the organization confirmed receipt. Refund: money the organization gave back to you. "
    "Amounts are in the pledge's currency; a tranche also shows the amount in the need's "
    "currency. USD amounts use the exchange rate of each line's date (AidMatch's dated rates); "
    "a line with no rate is left out of the USD totals and counted below them. Money given is "
    "the 'disbursed' total less the 'refunded' total; money pledged or committed but not yet "
    "sent is not yet given. Organizations that must stay hidden for their safety are named by a "
    "pseudonym. Keep this statement with your own records of payment."
)


# Columns of the lines and reports: (width in mm, alignment). Rows are single cells (fpdf2's
# tables wrap each cell's text, ~10 times slower), long texts shortened to fit.
LINE_COLUMNS = ((17, "L"), (27, "L"), (26, "R"), (18, "R"), (28, "R"), (74, "L"))
REPORT_COLUMNS = ((22, "L"), (30, "L"), (80, "L"), (58, "L"))
MM_PER_CHAR = 1.55  # DejaVu Sans at 7.5 pt: a wide character (m, W) is ~2 mm, digits ~1.3
ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


def _shaping(pdf: FPDF, on: bool) -> None:
    """Shape (join and lay right to left) only text in the Arabic script: shaping costs several
    times more than drawing, and Latin text needs none."""
    try:
        pdf.set_text_shaping(on)
    except ImportError:  # uharfbuzz missing: Arabic script drawn unjoined, nothing fails
        logger.warning("uharfbuzz is not installed: Arabic script is not shaped in statements")


def _text(pdf: FPDF, w: float, h: float, text: str, **kwargs) -> None:
    """A cell; text in the Arabic script is shaped, with the Naskh font for the letters DejaVu
    lacks (both cost a lot per character, so only where needed)."""
    arabic = bool(ARABIC_SCRIPT.search(text))
    if arabic:
        _shaping(pdf, True)
        pdf.set_fallback_fonts([FALLBACK], exact_match=False)
    pdf.cell(w, h, text, **kwargs)
    if arabic:
        _shaping(pdf, False)
        pdf.set_fallback_fonts([])


def _fit(text: str, width: float) -> str:
    """``text`` shortened to about what fits ``width`` mm at the table's size (measuring each
    cell costs as much as drawing it)."""
    most = max(4, int(width / MM_PER_CHAR))
    return text if len(text) <= most else text[: most - 3] + "..."


def _row(pdf: FPDF, columns, cells, heading: bool = False) -> None:
    if pdf.will_page_break(4.5):
        pdf.add_page()
    for (w, align), text in zip(columns, cells, strict=True):
        _text(pdf, w, 4.5, _fit(str(text), w - 1.5), border="B", align=align, fill=heading)
    pdf.ln(4.5)


class _StatementPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(MAIN, size=7)
        self.cell(0, 5, f"AidMatch giving statement - page {self.page_no()}", align="C")


def _money(amount: str | None, currency: str) -> str:
    return "-" if amount is None else f"{amount} {currency}"


def render(statement: dict) -> bytes:
    pdf = _StatementPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_font(MAIN, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FALLBACK, "", str(FONTS / "NotoNaskhArabic-Regular.ttf"))
    pdf.set_fill_color(225, 225, 225)
    donor = statement["donor"]
    pdf.set_title(f"Giving statement {statement['year']}")
    pdf.set_author("AidMatch")
    pdf.add_page()
    width = pdf.epw

    pdf.set_font(MAIN, size=16)
    pdf.cell(width, 9, f"Giving statement {statement['year']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(MAIN, size=10)
    _text(pdf, width, 6, f"Donor: {donor['name']}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        width,
        6,
        f"Period: 1 January {statement['year']} to 31 December {statement['year']} (UTC)",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    generated = statement["generated_at"].strftime("%Y-%m-%d %H:%M UTC")
    pdf.cell(width, 6, f"Generated: {generated}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    pdf.set_font(MAIN, size=12)
    pdf.cell(width, 7, "Totals", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(MAIN, size=9)
    with pdf.table(
        headings_style=HEADINGS,
        col_widths=(20, 30, 30, 30, 30),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
    ) as table:
        table.row(["Currency", "Pledged", "Committed", "Disbursed", "Refunded"])
        for t in statement["totals"]:
            table.row([t["currency"], t["pledged"], t["committed"], t["disbursed"], t["refunded"]])
        usd = statement["totals_usd"]
        table.row(
            ["All in USD", usd["pledged"], usd["committed"], usd["disbursed"], usd["refunded"]]
        )
    if usd["lines_without_rate"]:
        pdf.cell(
            width,
            5,
            f"{usd['lines_without_rate']} line(s) had no exchange rate and are not in the USD "
            "totals.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(3)

    pdf.set_font(MAIN, size=12)
    pdf.cell(width, 7, "Lines", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(MAIN, size=7.5)
    if not statement["lines"]:
        pdf.cell(width, 5, "No movement of your money in this year.", new_x="LMARGIN", new_y="NEXT")
    else:
        _row(
            pdf,
            LINE_COLUMNS,
            ["Date", "Kind", "Amount", "USD", "Need's currency", "Need, organization"],
            heading=True,
        )
        for line in statement["lines"]:
            kind = KIND_LABELS[line["kind"]]
            if line["reversal"] and line["kind"] != "refund":
                kind += " (reversal)"
            if line["tranche_status"]:
                kind += f" ({line['tranche_status']})"
            to = " / ".join(
                str(part) for part in (line["need_title"], line["organization"]) if part
            )
            _row(
                pdf,
                LINE_COLUMNS,
                [
                    line["date"].isoformat(),
                    kind,
                    _money(line["amount"], line["currency"]),
                    line["amount_usd"] or "no rate",
                    _money(line["need_amount"], line["need_currency"] or ""),
                    to or "AidMatch pool",
                ],
            )

    if statement["reports"]:
        pdf.ln(3)
        pdf.set_font(MAIN, size=12)
        pdf.cell(width, 7, "Delivery reports of needs you funded", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(MAIN, size=7.5)
        _row(
            pdf,
            REPORT_COLUMNS,
            ["Period end", "People reached", "Need", "Organization"],
            heading=True,
        )
        for r in statement["reports"]:
            reached = r["people_reached"]
            _row(
                pdf,
                REPORT_COLUMNS,
                [
                    r["period_end"].isoformat(),
                    "not shown (few people)" if reached is None else str(reached),
                    r["need_title"],
                    r["organization"],
                ],
            )

    pdf.ln(4)
    pdf.set_font(MAIN, size=8)
    pdf.multi_cell(width, 4, HOW_TO_READ, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
