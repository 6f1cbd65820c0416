"""Money as the bot layer asks for it: each call one short unit of work over the money rules (`stars`, `promo`,
`free`, `referrals`, `balance`), so no transaction is ever held while the bot talks to Telegram."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kiebot.catalog import Catalog
from kiebot.config import Settings
from kiebot.services import balance, free, promo, referrals, stars
from kiebot.services.stars import StarsGateway, StarsPackage
from kiebot.store import wallet
from kiebot.store.db import Database

MOVEMENTS_SHOWN = 10


@dataclass(frozen=True)
class Movement:
    when: datetime
    kind: str  # a LedgerKind value
    amount: int  # the change of the spendable balance (a hold shows as its amount)


@dataclass(frozen=True)
class BalanceView:
    balance: int
    held: int
    movements: tuple[Movement, ...]  # the latest first
    referral_payload: str  # the /start payload of the user's personal link


class MoneyService:
    def __init__(self, db: Database, *, packages: Sequence[StarsPackage], referral_bonus: int,
                 free_policy: free.FreePolicy, low_balance_threshold: int | None) -> None:
        self.db = db
        self.packages = tuple(packages)
        self.referral_bonus = referral_bonus
        self.free_policy = free_policy
        self.low_balance_threshold = low_balance_threshold

    @classmethod
    def of(cls, db: Database, settings: Settings, catalog: Catalog) -> MoneyService:
        cheapest = balance.cheapest_price(catalog.models, settings.price_markup)
        return cls(db, packages=stars.packages_from(settings.stars_packages), referral_bonus=settings.referral_bonus,
                   free_policy=free.FreePolicy.of(settings.free_daily, settings.free_models),
                   low_balance_threshold=balance.low_balance_threshold(settings.low_balance_threshold, cheapest))

    # --- what the user sees -------------------------------------------------------------------
    async def balance_view(self, user_id: int) -> BalanceView:
        async with self.db.read() as session:
            held_now = await wallet.get_balance(session, user_id)
            rows = await wallet.latest_entries(session, user_id, MOVEMENTS_SHOWN)
        movements = tuple(Movement(r.created_at, str(r.kind), balance.entry_amount(r)) for r in rows)
        return BalanceView(held_now[0], held_now[1], movements, referrals.link_payload(user_id))

    def package(self, stars_count: int) -> StarsPackage | None:
        return next((p for p in self.packages if p.stars == stars_count), None)

    def package_for(self, shortfall: int) -> StarsPackage | None:
        """The smallest package that covers a shortfall (None: even the largest does not)."""
        return stars.package_for(shortfall, self.packages)

    async def free_left(self, user_id: int, model_id: str) -> int:
        if not self.free_policy.covers(model_id):
            return 0
        async with self.db.read() as session:
            return await free.free_left(session, user_id, model_id, self.free_policy)

    async def free_today(self, user_id: int, model_ids: Sequence[str]) -> set[str]:
        """Those of `model_ids` the user can still run free today."""
        free_ones = [m for m in model_ids if self.free_policy.covers(m)]
        if not free_ones or not await self.free_left(user_id, free_ones[0]):  # the tries are shared by free models
            return set()
        return set(free_ones)

    async def low_balance_due(self, user_id: int) -> bool:
        """True once per crossing of the low-balance threshold (one replica wins)."""
        async with self.db.write.begin() as session:
            return await balance.should_notify_low_balance(session, user_id, self.low_balance_threshold)

    # --- Stars --------------------------------------------------------------------------------
    async def pre_checkout(self, user_id: int, payload: str, currency: str, total_amount: int) -> stars.PreCheckoutAnswer:
        async with self.db.read() as session:
            return await stars.pre_checkout(session, user_id=user_id, payload=payload, currency=currency,
                                            total_amount=total_amount, packages=self.packages)

    async def record_payment(self, user_id: int, charge_id: str, total_amount: int,
                             payload: str | None) -> stars.PaymentReceipt:
        async with self.db.write.begin() as session:
            return await stars.record_payment(session, stars.PaidInvoice(user_id, charge_id, total_amount, payload),
                                              packages=self.packages, referral_bonus=self.referral_bonus)

    async def record_outside_refund(self, user_id: int, charge_id: str, total_amount: int) -> stars.OutsideRefund:
        async with self.db.write.begin() as session:
            return await stars.record_outside_refund(session, charge_id=charge_id, user_id=user_id,
                                                     stars=total_amount)

    async def refund(self, gateway: StarsGateway, charge_id: str) -> stars.RefundReceipt:
        """Raises `stars.RefundError`. Commits before and after the call to Telegram."""
        async with self.db.write() as session:
            return await stars.refund_payment(session, gateway, charge_id)

    async def reconcile(self, gateway: StarsGateway) -> stars.ReconcileReport:
        return await stars.reconcile(self.db.write, gateway, packages=self.packages,
                                     referral_bonus=self.referral_bonus)

    async def balance_of(self, user_id: int) -> int:
        async with self.db.read() as session:
            return (await wallet.get_balance(session, user_id))[0]

    # --- admin ----------------------------------------------------------------------------------
    async def ledger_csv(self, user_id: int) -> str:
        async with self.db.read() as session:
            return await balance.ledger_csv(session, user_id)

    async def create_promo(self, args: str, created_by: int) -> promo.PromoSpec:
        """`CODE AMOUNT [USES] [DAYS]`. Raises `promo.PromoError` (invalid, exists)."""
        spec = promo.parse_spec(args)
        async with self.db.write.begin() as session:
            await promo.create(session, spec, created_by=created_by)
        return spec

    async def promo_codes(self) -> list[promo.PromoInfo]:
        async with self.db.read() as session:
            return await promo.list_codes(session)

    async def disable_promo(self, code: str) -> None:
        """Raises `promo.PromoError` (unknown)."""
        async with self.db.write.begin() as session:
            await promo.disable(session, code)

    # --- codes and links --------------------------------------------------------------------------
    async def redeem(self, user_id: int, code: str) -> promo.Redemption:
        """Raises `promo.PromoError` (unknown, expired, disabled, used-up, already-used)."""
        async with self.db.write.begin() as session:
            return await promo.redeem(session, user_id, code)

    async def attach_referrer(self, user_id: int, payload: str, *, new_user: bool) -> int:
        """Raises `referrals.ReferralError`."""
        async with self.db.write.begin() as session:
            return await referrals.attach_referrer(session, user_id=user_id, payload=payload, new_user=new_user)
