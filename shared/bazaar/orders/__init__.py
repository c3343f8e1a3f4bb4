"""Orders: the order state machine, its history, and a customer's view of their orders."""
