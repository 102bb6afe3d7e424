//! `memflux inspect`: reads snapshots and WAL segments offline.
