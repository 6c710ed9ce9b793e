"""Repository records, their input, URLs, access and credentials, known hosts, connection tests."""
