from blinker import Namespace

_signals = Namespace()

#: Sent with the user just before an account is deleted, inside the same transaction.
account_deleting = _signals.signal("account-deleting")
