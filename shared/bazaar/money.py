"""Money is integer paise, always. `Paise` refuses floats and anything that is not a whole number
so a rupee amount or a rounding error can never slip into a total."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Paise:
    amount: int

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"paise must be an int, not {type(self.amount).__name__}")

    def __add__(self, other: Paise) -> Paise:
        return Paise(self.amount + other.amount)

    def __sub__(self, other: Paise) -> Paise:
        return Paise(self.amount - other.amount)

    def times(self, quantity: int) -> Paise:
        if not isinstance(quantity, int):
            raise TypeError("quantity must be an int")
        return Paise(self.amount * quantity)

    def share_bps(self, basis_points: int) -> Paise:
        """A fee or commission in basis points, rounded half up to the paisa."""
        return Paise((self.amount * basis_points + 5000) // 10000)

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    @classmethod
    def zero(cls) -> Paise:
        return cls(0)

    @classmethod
    def from_rupees_string(cls, text: str) -> Paise:
        """For providers that speak rupees (Shiprocket): '123.45' -> 12345 paise, exactly."""
        whole, _, fraction = text.strip().partition(".")
        if not whole.lstrip("-").isdigit() or (fraction and (not fraction.isdigit() or len(fraction) > 2)):
            raise ValueError(f"not a rupee amount: {text!r}")
        sign = -1 if whole.startswith("-") else 1
        return cls(sign * (abs(int(whole)) * 100 + int((fraction or "0").ljust(2, "0"))))

    def to_rupees_string(self) -> str:
        sign = "-" if self.amount < 0 else ""
        return f"{sign}{abs(self.amount) // 100}.{abs(self.amount) % 100:02d}"
