//! CA status codes (`ECA_*`): their text and the [`PvError`] each becomes.

use std::ffi::CStr;

use epics_ca_sys as sys;

use crate::transport::PvError;

/// libca's text for a status, e.g. `"Write access denied"`.
pub(crate) fn message(status: i32) -> String {
    // SAFETY: takes no pointer and needs no context: it indexes libca's
    // static table of texts.
    let text = unsafe { sys::ca_message(status.into()) };
    if text.is_null() {
        return format!("CA status {status}");
    }
    // SAFETY: a non-null result is one of libca's static, NUL-terminated
    // texts (an unknown status gets a generic one), valid for the
    // life of the process.
    unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
}

/// The error a failed status stands for, carrying libca's text (which, for
/// a put the IOC refused, is all the protocol transmits of the IOC's reason).
pub(crate) fn error(status: i32) -> PvError {
    match status {
        sys::ECA_DISCONN | sys::ECA_DISCONNCHID => PvError::Disconnected,
        sys::ECA_NOWTACCESS | sys::ECA_NORDACCESS | sys::ECA_PUTFAIL | sys::ECA_GETFAIL => {
            PvError::Refused(message(status))
        }
        sys::ECA_BADCOUNT | sys::ECA_BADTYPE | sys::ECA_NOCONVERT | sys::ECA_TOLARGE | sys::ECA_BADSTR => {
            PvError::BadValue(message(status))
        }
        _ => PvError::Other(message(status)),
    }
}

/// `Ok` for a successful status, else its error.
pub(crate) fn check(status: i32) -> Result<(), PvError> {
    if sys::CA_EXTRACT_SUCCESS(status) != 0 {
        Ok(())
    } else {
        Err(error(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_libcas_text() {
        assert_eq!(error(sys::ECA_NOWTACCESS), PvError::Refused("Write access denied".into()));
        assert_eq!(error(sys::ECA_PUTFAIL), PvError::Refused("Channel write request failed".into()));
        assert_eq!(error(sys::ECA_DISCONN), PvError::Disconnected);
        assert_eq!(check(sys::ECA_NORMAL), Ok(()));
    }
}
