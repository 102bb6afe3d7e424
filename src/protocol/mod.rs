//! The wire protocol: parsing client requests (RESP multibulk and inline) and encoding
//! replies in RESP2 or RESP3. Knows nothing of storage or commands.

pub mod argv;
pub mod parser;
pub mod reply;
pub mod reply_reader;

pub use argv::{Argv, PackedArgs};
pub use reply::{Protocol, ReplyBuf};
