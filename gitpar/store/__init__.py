"""The only layer that talks to pygit2 or runs git."""
