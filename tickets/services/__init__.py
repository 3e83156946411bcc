"""Services: every write goes through here. Views stay thin and call them."""
