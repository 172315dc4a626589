//! Turning a post's plain text into safe HTML, and sanitising remote HTML.
