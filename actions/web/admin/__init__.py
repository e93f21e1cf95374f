"""The admin pages for a merchant's staff: sign-in and sessions (`sessions`), the pages (`views`,
`templates/`), and what staff can do from them (`operations`, thin calls into the use cases)."""
