"""The steps of the load test (benchmarks/load_flow.py), one row each in locust's statistics, in the
order a parent meets them; apart, so that whoever reads the figures needs no locust (which patches the
process that imports it)."""

STEPS = {
    "page": "01 GET /taotlus/ (step 1)",
    "edasi": "02 POST /taotlus/ (Edasi)",
    "check_mail": "03 GET /taotlus/saadetud",
    "application_mail": "04 e-mail: the application link delivered (from Edasi)",
    "form": "05 GET /taotlus/vorm/<token>",
    "submit": "06 POST /taotlus/vorm/<token>",
    "done": "07 GET /taotlus/valmis (VALMIS)",
    "decision": "08 wait: VALMIS → approved by staff",
    "login_mail": "09 e-mail: the login link delivered (from the approval)",
    "link_page": "10 GET /sisene/<token>",
    "log_in": "11 POST /sisene/<token> (log in)",
    "profile": "12 GET /profiil/",
    "edit": "13 GET /profiil/muuda",
    "password": "14 POST /profiil/muuda (Salvesta)",
    "saved": "15 GET /profiil/ (password saved)",
    "staff_login_page": "S1 GET /kool/sisene",
    "staff_log_in": "S2 POST /kool/sisene (staff log in)",
    "staff_queue": "S3 GET /kool/ (queue)",
    "staff_application": "S4 GET /kool/taotlus/<id>",
    "staff_approve": "S5 POST /kool/taotlus/<id>/kinnita (htmx)",
}
