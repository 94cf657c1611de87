//! A client of Plenum: the client protocol and the media client (being written).
