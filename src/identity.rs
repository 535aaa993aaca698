//! Placeholder: machine identity keys; its owner replaces this file.
