//! LTFS 2.4 volumes over a tape device.
