"""The live audience feed: anonymous enter/update/leave and play events on MQTT and a local WebSocket.

The schema and a worked example are in docs/audience-feed.md. Nothing identifying leaves: no image,
crop, embedding or tracker id; a person is a random token that lives as long as their track.
"""

from signage.feed.factory import LiveFeed, open_feed
from signage.feed.hub import FeedHub, RecordingSink
from signage.feed.messages import FeedMessage
from signage.feed.observer import AudienceFeed, TokenBucket

__all__ = ["AudienceFeed", "FeedHub", "FeedMessage", "LiveFeed", "RecordingSink", "TokenBucket", "open_feed"]
