//! LAN discovery (being written).
