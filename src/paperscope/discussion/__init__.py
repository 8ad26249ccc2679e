"""Discussion of papers: comment threads, mentions, notifications and moderation."""
