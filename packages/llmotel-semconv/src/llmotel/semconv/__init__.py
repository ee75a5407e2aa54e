"""GenAI semantic-convention names, message types and their JSON codec, and the API-level helpers that emit them."""
