"""Model traffic: the gateway every call goes through, its response cache, the agents' API formats, the loopback endpoint, and the providers it serves in-process."""
