"""A giving statement as a PDF a person can file (fpdf2: pure Python).

Fonts ship in ``fonts/`` with their licences: DejaVu Sans (Latin, Cyrillic, most of the Arabic
script) and, for what it lacks (Pashto's ۍ, ...), Noto Naskh Arabic as a fallback. Arabic-script
names (Dari, Pashto) are shaped and laid right to left by HarfBuzz (uharfbuzz) when it is
installed; without it they are still drawn, unjoined. A character no font has is left out (fpdf2
warns), never an error: a name in any script renders.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONTS = Path(__file__).resolve().parent / "fonts"
MAIN, FALLBACK = "DejaVuSans", "NotoNaskhArabic"
# One regular face only (no bold file shipped): headings are shaded instead.
HEADINGS = FontFace(emphasis="", fill_color=(225, 225, 225))
logger = logging.getLogger(__name__)

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


def _shaping(pdf: FPDF) -> None:
    try:
        pdf.set_text_shaping(True)
    except ImportError:  # uharfbuzz missing: Arabic script drawn unjoined, nothing fails
        logger.warning("uharfbuzz is not installed: Arabic script is not shaped in statements")


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
    pdf.set_fallback_fonts([FALLBACK], exact_match=False)
    _shaping(pdf)
    donor = statement["donor"]
    pdf.set_title(f"Giving statement {statement['year']}")
    pdf.set_author("AidMatch")
    pdf.add_page()
    width = pdf.epw

    pdf.set_font(MAIN, size=16)
    pdf.cell(width, 9, f"Giving statement {statement['year']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(MAIN, size=10)
    pdf.cell(width, 6, f"Donor: {donor['name']}", new_x="LMARGIN", new_y="NEXT")
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
        with pdf.table(
            headings_style=HEADINGS,
            col_widths=(17, 17, 26, 20, 28, 62),
            text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
        ) as table:
            table.row(["Date", "Kind", "Amount", "USD", "Need's currency", "Need, organization"])
            for line in statement["lines"]:
                kind = KIND_LABELS[line["kind"]]
                if line["reversal"] and line["kind"] != "refund":
                    kind += " (reversal)"
                if line["tranche_status"]:
                    kind += f" ({line['tranche_status']})"
                to = " / ".join(
                    str(part) for part in (line["need_title"], line["organization"]) if part
                )
                table.row(
                    [
                        line["date"].isoformat(),
                        kind,
                        _money(line["amount"], line["currency"]),
                        line["amount_usd"] or "no rate",
                        _money(line["need_amount"], line["need_currency"] or ""),
                        to or "AidMatch pool",
                    ]
                )

    if statement["reports"]:
        pdf.ln(3)
        pdf.set_font(MAIN, size=12)
        pdf.cell(width, 7, "Delivery reports of needs you funded", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(MAIN, size=7.5)
        with pdf.table(col_widths=(22, 22, 80, 46), headings_style=HEADINGS) as table:
            table.row(["Period end", "People reached", "Need", "Organization"])
            for r in statement["reports"]:
                reached = r["people_reached"]
                table.row(
                    [
                        r["period_end"].isoformat(),
                        "not shown (few people)" if reached is None else str(reached),
                        r["need_title"],
                        r["organization"],
                    ]
                )

    pdf.ln(4)
    pdf.set_font(MAIN, size=8)
    pdf.multi_cell(width, 4, HOW_TO_READ, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
