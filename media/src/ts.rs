pub fn cut_ts<S: crate::RangeSource + ?Sized, W: std::io::Write>(
    _s: &mut S,
    _r: &crate::TimecodeRange,
    _o: &mut W,
) -> crate::error::Result<crate::CutReport> {
    Err(crate::MediaError::Unsupported("ts".into()))
}
