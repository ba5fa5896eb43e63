//! monerod log lines, file and console forms.

use crate::event::Event;
use crate::stream::{Head, Line, SourceParser};

#[derive(Default)]
pub struct MonerodParser {}

impl SourceParser for MonerodParser {
    fn start(&mut self, _line: &Line<'_>, _head: &Head<'_>, _out: &mut Vec<Event>) -> bool {
        false
    }

    fn continuation(&mut self, _line: &Line<'_>, _out: &mut Vec<Event>) -> bool {
        false
    }

    fn close(&mut self, _out: &mut Vec<Event>) {}

    fn pending_start(&self) -> Option<(u64, u64)> {
        None
    }
}
