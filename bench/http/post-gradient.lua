-- wrk script: POST /gradient with the W1 body (the tutorial's paraboloid at (2, 2)).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"expression": "0.2*x1^2 + 0.2*x2^2 - 5", "parameters": {"x1": 2, "x2": 2}}'
