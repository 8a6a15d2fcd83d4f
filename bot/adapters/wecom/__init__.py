"""WeCom (企业微信): customer contact, WeChat Customer Service (kf) and the app.

Everything that knows WeCom lives in this folder: the callback crypto, the
HTTP API client and the parsing of callback events. The core sees only the
neutral events and capabilities the adapter declares.
"""
