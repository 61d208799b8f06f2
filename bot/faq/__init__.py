"""The FAQ: content files, validation, the semantic index and the answer decision."""
