"""One module per business context, each declaring what that context needs (TABLES, QUEUES,
SECRETS, FUNCTIONS, ALARMS; any may be absent). infra/description/bazaar.py gathers them."""
