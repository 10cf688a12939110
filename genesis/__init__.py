"""Genesis documents: create, validate, load; devnet layouts."""
