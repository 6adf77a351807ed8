"""What a run leaves behind and shows: transcript, cast, console, redaction, rendering."""
