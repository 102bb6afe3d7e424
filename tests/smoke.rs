//! The smallest end-to-end check: the server starts, answers, and spreads keys.

mod common;

#[test]
fn ping_set_get_across_shards() {
    let server = common::Server::start();
    let mut con = server.con();
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let a = common::keys_on_shard(0, 2, 1, "k")[0].clone();
    let b = common::keys_on_shard(1, 2, 1, "k")[0].clone();
    let _: () = redis::cmd("MSET")
        .arg(&a)
        .arg("1")
        .arg(&b)
        .arg("2")
        .query(&mut con)
        .unwrap();
    let v: Vec<String> = redis::cmd("MGET").arg(&a).arg(&b).query(&mut con).unwrap();
    assert_eq!(v, vec!["1", "2"]);
}
