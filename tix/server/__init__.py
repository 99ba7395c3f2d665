"""`tix serve`: the desk over HTTP for customers, resellers and their scripts (app.py), the
route table (calls.py), limits (limits.py), the OpenAPI document (openapi.py), and running it
under uvicorn (run.py). The CLI's client of it is tix/remote.py."""
