//! The staging tutorial's detectors.
