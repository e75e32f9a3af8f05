"""newsbot on Discord: the client, its cogs (loaded as extensions), views, embeds and the feedback store."""
