//! Table-driven tests of the P2Pool parser.
