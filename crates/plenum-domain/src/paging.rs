//! Paging as the domain understands it: a 1-based page of a bounded size.
//! Each dialect parses its own paging style (page_num/page_size, offset/count, …) into this.

use crate::{Field, Rule, ValidationError};

/// The largest page number asked for; beyond it no list has anything.
pub const MAX_PAGE_NUM: i64 = 1_000_000_000;
/// The largest offset asked for, likewise.
pub const MAX_OFFSET: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    offset: u64,
    limit: u32,
}

impl PageRequest {
    /// `page_num` is 1-based; `page_size` is 1..=`max_size`.
    pub fn by_number(
        page_num: i64,
        page_size: i64,
        max_size: u32,
    ) -> Result<Self, ValidationError> {
        if !(1..=MAX_PAGE_NUM).contains(&page_num) {
            return Err(ValidationError::breaks(
                Rule::OutOfRange,
                Field::PageNum,
                format!("must be a whole number from 1 to {MAX_PAGE_NUM}"),
            ));
        }
        if !(1..=i64::from(max_size)).contains(&page_size) {
            return Err(ValidationError::breaks(
                Rule::OutOfRange,
                Field::PageSize,
                format!("must be between 1 and {max_size}"),
            ));
        }
        Ok(Self {
            offset: (page_num as u64 - 1) * page_size as u64,
            limit: page_size as u32,
        })
    }

    /// An offset-style page (Huawei `offset`/`limit`, Rocket.Chat `offset`/`count`): skip
    /// `offset` items, return at most `limit` (1..=`max_size`).
    pub fn by_offset(offset: i64, limit: i64, max_size: u32) -> Result<Self, ValidationError> {
        if !(0..=MAX_OFFSET).contains(&offset) {
            return Err(ValidationError::breaks(
                Rule::OutOfRange,
                Field::Offset,
                format!("must be a whole number from 0 to {MAX_OFFSET}"),
            ));
        }
        if !(1..=i64::from(max_size)).contains(&limit) {
            return Err(ValidationError::breaks(
                Rule::OutOfRange,
                Field::PageSize,
                format!("must be between 1 and {max_size}"),
            ));
        }
        Ok(Self {
            offset: offset as u64,
            limit: limit as u32,
        })
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }
}

/// One page of results and the total number of matches across all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Page<T> {
    /// How many pages of `page_size` the total fills (0 when there is nothing).
    pub fn total_pages(&self, page_size: u32) -> u64 {
        self.total.div_ceil(u64::from(page_size.max(1)))
    }

    /// The same page with each item turned into another (a row into what a list shows).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_one_based_and_bounded() {
        let p = PageRequest::by_number(3, 10, 100).unwrap();
        assert_eq!((p.offset(), p.limit()), (20, 10));
        assert!(PageRequest::by_number(0, 10, 100).is_err());
        assert!(PageRequest::by_number(1, 0, 100).is_err());
        assert!(PageRequest::by_number(1, 101, 100).is_err());
        assert!(PageRequest::by_number(-5, 10, 100).is_err());
    }

    #[test]
    fn total_pages_rounds_up() {
        let page = |total| Page::<()> {
            items: vec![],
            total,
        };
        assert_eq!(page(0).total_pages(10), 0);
        assert_eq!(page(1).total_pages(10), 1);
        assert_eq!(page(10).total_pages(10), 1);
        assert_eq!(page(11).total_pages(10), 2);
    }
}
