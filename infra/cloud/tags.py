"""The tags (and metadata keys) that map template resources back to the description.
infra/cloud/inventory.py reads exactly these."""

FUNCTION = "bazaar:function"
TABLE = "bazaar:table"
QUEUE = "bazaar:queue"
SECRET = "bazaar:secret"
SERVICE = "bazaar:service"
STAGE = "bazaar:stage"
SCHEDULE = "bazaar:schedule"
ALARM = "bazaar:alarm"
NETWORK = "bazaar:network"
STATE_MACHINE = "bazaar:state-machine"
WEBSOCKET_API = "bazaar:websocket-api"
