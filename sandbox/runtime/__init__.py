"""Parts of the running sandbox that its control service and CLI share."""
