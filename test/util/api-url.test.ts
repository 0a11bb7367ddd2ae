import { describe, expect, it } from "vitest";
import { apiUrl } from "../../src/util/url.js";

describe("apiUrl", () => {
  it("puts the route after the endpoint's path and its query after the endpoint's", () => {
    expect(apiUrl("https://zim-api.zego.im", "/", "Action=UserRegister&AppId=1")).toBe("https://zim-api.zego.im/?Action=UserRegister&AppId=1");
    expect(apiUrl("https://app.imkit.io/", "/admin/clients/list")).toBe("https://app.imkit.io/admin/clients/list");
    expect(apiUrl("https://gw.example/royalti//", "/user/bulk")).toBe("https://gw.example/royalti/user/bulk");
    // A proxy's token in the endpoint's query: the route's path no longer lands inside it.
    expect(apiUrl("https://gw.example/zego/?access_token=T0k", "/", "Action=UserRegister")).toBe("https://gw.example/zego/?access_token=T0k&Action=UserRegister");
    expect(apiUrl("https://gw.example/?access_token=T0k", "/api/v3/get-management-token")).toBe("https://gw.example/api/v3/get-management-token?access_token=T0k");
    expect(apiUrl("https://u:p%40ss@gw.example:8443/base?", "/v2/p%2F1/users/batch-create")).toBe("https://u:p%40ss@gw.example:8443/base/v2/p%2F1/users/batch-create");
  });
});
