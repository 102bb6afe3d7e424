//! Redistributing the data at start-up when the shard count changed.
