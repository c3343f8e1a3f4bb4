"""The settlement ledger's arithmetic, pure: each split sums exactly to what was paid, rounding
is the documented one, the most specific commission rule wins, and refunds (whole or in any
number of parts) take back exactly what was deducted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bazaar.money import Paise
from bazaar.payouts.ledger import (
    PLATFORM_COMMISSION,
    TAX_TCS,
    TAX_TDS,
    CommissionRule,
    EntryKind,
    PostingKind,
    Rates,
    Refunded,
    SettledOrder,
    SoldLine,
    UnattributedLine,
    apportion,
    bounty_posting,
    clawback_posting,
    reversal_postings,
    sale_postings,
    statement_of,
)

AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
RATES = Rates(default_commission_bps=1000, gateway_fee_bps=200, tcs_bps=50, tds_bps=10)


def _order(*lines: tuple[str, str, int], refunds: tuple[tuple[str, int], ...] = ()) -> SettledOrder:
    return SettledOrder("ord_1", "usr_C", tuple(SoldLine(s, c, Paise(t)) for s, c, t in lines),
                        tuple(Refunded(r, Paise(a)) for r, a in refunds))


def test_a_sale_is_the_line_totals_less_each_deduction_at_its_rate():
    [posting] = sale_postings(_order(("usr_S", "phones", 149_900)), RATES, AT)

    assert posting.kind is PostingKind.SALE and posting.payee == "seller:usr_S"
    assert posting.of_kind(EntryKind.SALE) == Paise(149_900)
    # 10% commission, 2% gateway fee, 0.5% TCS, 0.1% TDS of ₹1,499.00, each rounded half up.
    assert posting.of_kind(EntryKind.COMMISSION) == Paise(-14_990)
    assert posting.of_kind(EntryKind.GATEWAY_FEE) == Paise(-2_998)
    assert posting.of_kind(EntryKind.TCS) == Paise(-750)  # 749.5 rounds up
    assert posting.of_kind(EntryKind.TDS) == Paise(-150)  # 149.9 rounds up
    assert posting.net == Paise(149_900 - 14_990 - 2_998 - 750 - 150)
    # The deductions are owed to the platform and the tax authorities: the posting sums to the sale.
    assert posting.of_kind(EntryKind.COMMISSION, PLATFORM_COMMISSION) == Paise(14_990)
    assert posting.of_kind(EntryKind.TCS, TAX_TCS) == Paise(750)
    assert posting.of_kind(EntryKind.TDS, TAX_TDS) == Paise(150)
    assert posting.total == Paise(149_900)
    rates = {e.kind: e.rate_bps for e in posting.entries if e.account == posting.payee}
    assert rates == {EntryKind.SALE: None, EntryKind.COMMISSION: 1000, EntryKind.GATEWAY_FEE: 200,
                     EntryKind.TCS: 50, EntryKind.TDS: 10}


def test_each_seller_of_an_order_gets_their_own_posting():
    postings = sale_postings(_order(("usr_A", "phones", 10_000), ("usr_B", "books", 2_500),
                                    ("usr_A", "cases", 500)), RATES, AT)

    assert [p.payee for p in postings] == ["seller:usr_A", "seller:usr_B"]
    assert [p.of_kind(EntryKind.SALE) for p in postings] == [Paise(10_500), Paise(2_500)]
    assert sum((p.total for p in postings), Paise.zero()) == Paise(13_000)


def test_the_most_specific_commission_rule_wins_and_clamps_per_line():
    rates = Rates(1000, 0, 0, 0, rules=(
        CommissionRule(500, category="books"),
        CommissionRule(700, seller_id="usr_A"),
        CommissionRule(300, seller_id="usr_A", category="books", minimum=Paise(100)),
        CommissionRule(2000, category="phones", maximum=Paise(1_000)),
    ))

    assert rates.commission_rule("usr_A", "books").bps == 300
    assert rates.commission_rule("usr_A", "toys").bps == 700
    assert rates.commission_rule("usr_B", "books").bps == 500
    assert rates.commission_rule("usr_B", "toys").bps == 1000
    [a] = sale_postings(_order(("usr_A", "books", 1_000)), rates, AT)
    assert a.of_kind(EntryKind.COMMISSION) == Paise(-100)  # 3% of ₹10 is 30 paise: the minimum is 100
    [b] = sale_postings(_order(("usr_B", "phones", 100_000)), rates, AT)
    assert b.of_kind(EntryKind.COMMISSION) == Paise(-1_000)  # 20% capped at the maximum


def test_deductions_never_take_a_seller_below_zero():
    rates = Rates(0, 5000, 5000, 5000, rules=(CommissionRule(1000, category="tiny", minimum=Paise(500)),))

    [posting] = sale_postings(_order(("usr_S", "tiny", 300)), rates, AT)

    assert posting.of_kind(EntryKind.COMMISSION) == Paise(-300)  # capped at the line itself
    assert posting.net == Paise.zero() and posting.total == Paise(300)


def test_a_line_without_a_seller_cannot_be_settled():
    with pytest.raises(UnattributedLine):
        sale_postings(_order(("", "phones", 100)), RATES, AT)


def test_apportioning_sums_to_the_whole_and_breaks_ties_to_the_earlier_part():
    assert apportion(Paise(100), [1, 1, 1]) == [Paise(34), Paise(33), Paise(33)]
    assert apportion(Paise(-7), [2, 1]) == [Paise(-5), Paise(-2)]


def test_a_full_refund_reverses_every_entry_exactly():
    order = _order(("usr_A", "phones", 149_900), ("usr_B", "books", 333), refunds=(("ord_1-r1", 150_233),))
    sales = sale_postings(order, RATES, AT)

    reversals = reversal_postings(order, sales, (), AT)

    assert len(reversals) == 2
    for sale in sales:
        reversal = next(r for r in reversals if r.payee == sale.payee)
        assert reversal.kind is PostingKind.REFUND_REVERSAL
        for kind in EntryKind:
            assert reversal.of_kind(kind) == Paise(-sale.of_kind(kind).amount)
        assert reversal.net == Paise(-sale.net.amount)
    assert sum((p.total for p in (*sales, *reversals)), Paise.zero()) == Paise.zero()


def test_reversals_already_posted_are_not_posted_again():
    order = _order(("usr_A", "phones", 10_000), refunds=(("r1", 4_000),))
    sales = sale_postings(order, RATES, AT)
    first = reversal_postings(order, sales, (), AT)

    assert reversal_postings(order, sales, (*sales, *first), AT) == ()


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.tuples(st.sampled_from(["usr_A", "usr_B", "usr_C"]), st.sampled_from(["x", "y"]),
                             st.integers(1, 5_000_000)), min_size=1, max_size=6),
    cuts=st.lists(st.integers(1, 1000), min_size=1, max_size=5),
    whole=st.booleans(),
    bps=st.tuples(st.integers(0, 3000), st.integers(0, 500), st.integers(0, 200), st.integers(0, 200)),
)
def test_any_refunds_in_any_parts_leave_the_ledger_exact(lines, cuts, whole, bps):
    rates = Rates(*bps, rules=(CommissionRule(1500, category="y", minimum=Paise(50), maximum=Paise(90_000)),))
    paid = sum(total for _, _, total in lines)
    # Refund parts proportional to `cuts`, summing to all of it or to a share of it.
    refunded_total = paid if whole else max(1, paid * len(cuts) // (len(cuts) + 3))
    parts = [p.amount for p in apportion(Paise(refunded_total), cuts) if p.amount > 0]
    refunds = tuple((f"r{n}", amount) for n, amount in enumerate(parts))
    sold = _order(*lines)
    sales = sale_postings(sold, rates, AT)
    assert sum((p.total for p in sales), Paise.zero()) == Paise(paid)
    # The refunds complete one at a time; each is reversed with the earlier reversals known.
    posted = list(sales)
    for n in range(1, len(refunds) + 1):
        so_far = _order(*lines, refunds=refunds[:n])
        posted += reversal_postings(so_far, sales, posted, AT)
    reversals = [p for p in posted if p.kind is PostingKind.REFUND_REVERSAL]
    assert sum((p.total for p in posted), Paise.zero()) == Paise(paid - sum(parts))
    for sale in sales:
        back = [r for r in reversals if r.payee == sale.payee]
        for kind in EntryKind:
            taken_back = sum(r.of_kind(kind).amount for r in back)
            # Never more than was deducted (or sold), whatever the rounding of each part.
            assert abs(taken_back) <= abs(sale.of_kind(kind).amount)
            if whole:
                assert taken_back == -sale.of_kind(kind).amount
    assert all(sale.net.amount >= 0 for sale in sales)


def test_a_bounty_and_its_clawback_cancel_out():
    bounty = bounty_posting("usr_S", "usr_R", "ord_1", Paise(1000), AT)
    clawback = clawback_posting(bounty, AT)

    assert bounty.net == Paise(1000) and bounty.total == Paise.zero()
    assert clawback.net == Paise(-1000) and clawback.kind is PostingKind.BOUNTY_CLAWBACK
    assert clawback.payee == "scout:usr_S" and clawback.posting_id == "clawback:bounty:usr_R"


def test_a_statement_nets_reversals_into_each_figure():
    order = _order(("usr_A", "phones", 10_000), refunds=(("r1", 10_000),))
    sales = sale_postings(order, RATES, AT)
    statement = statement_of("usr_A", (*sales, *reversal_postings(order, sales, (), AT)), AT,
                             datetime(2026, 12, 3, tzinfo=UTC))

    assert (statement.gross, statement.commission, statement.net) == (Paise.zero(), Paise.zero(), Paise.zero())
    only_sale = statement_of("usr_A", sales, AT, datetime(2026, 12, 3, tzinfo=UTC))
    assert only_sale.gross == Paise(10_000) and only_sale.commission == Paise(1_000)
    assert only_sale.net == only_sale.gross - only_sale.commission - only_sale.gateway_fees - only_sale.tcs - only_sale.tds
