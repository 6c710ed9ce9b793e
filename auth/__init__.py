from auth.guard import check_request, csrf_token, json_error, wants_json  # noqa: F401
