def test_customer_ticket_round_trip(desk):
    code = desk.create("alpha", subject="Web down")
    shown = desk.tix("show", code, as_="hosting_agent")
    assert "Web down" in shown.stdout
