//! DIVA-style page numbers (1-based `page`, `size`) over already filtered lists.

use tapelib_proto::v1::{PageInfo, PageRequest};

/// Items per page when the request leaves `size` at 0.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page served; bigger sizes are clamped.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Cuts page `request` out of `items` and describes it.
pub fn paginate<T>(items: Vec<T>, request: Option<&PageRequest>) -> (Vec<T>, PageInfo) {
    let page = request.map_or(1, |r| r.page.max(1));
    let size = match request.map_or(0, |r| r.size) {
        0 => DEFAULT_PAGE_SIZE,
        s => s.min(MAX_PAGE_SIZE),
    };
    let total = items.len();
    let start = usize::try_from(u64::from(page - 1) * u64::from(size)).unwrap_or(usize::MAX);
    let end = start.saturating_add(size as usize).min(total);
    let page_items: Vec<T> = if start >= total {
        Vec::new()
    } else {
        items.into_iter().skip(start).take(end - start).collect()
    };
    let info = PageInfo {
        page,
        size,
        total_items: total as u64,
        has_more: end < total,
    };
    (page_items, info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(page: u32, size: u32) -> PageRequest {
        PageRequest { page, size }
    }

    #[test]
    fn pages_cover_the_list_once() {
        let items: Vec<u32> = (0..25).collect();
        let (p1, i1) = paginate(items.clone(), Some(&req(1, 10)));
        let (p2, i2) = paginate(items.clone(), Some(&req(2, 10)));
        let (p3, i3) = paginate(items.clone(), Some(&req(3, 10)));
        assert_eq!(p1, (0..10).collect::<Vec<_>>());
        assert_eq!(p2, (10..20).collect::<Vec<_>>());
        assert_eq!(p3, (20..25).collect::<Vec<_>>());
        assert!(i1.has_more && i2.has_more && !i3.has_more);
        assert_eq!(i3.total_items, 25);
    }

    #[test]
    fn defaults_clamps_and_beyond_the_end() {
        let items: Vec<u32> = (0..5).collect();
        let (p, i) = paginate(items.clone(), None);
        assert_eq!((p.len(), i.page, i.size), (5, 1, DEFAULT_PAGE_SIZE));
        let (_, i) = paginate(items.clone(), Some(&req(0, 5000)));
        assert_eq!((i.page, i.size), (1, MAX_PAGE_SIZE));
        let (p, i) = paginate(items, Some(&req(u32::MAX, MAX_PAGE_SIZE)));
        assert!(p.is_empty());
        assert!(!i.has_more);
    }
}
