using System.Net.Sockets;
using System.Text;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// Sends a request byte for byte over a socket, so tests can send what HttpClient would normalize or
/// refuse: dot segments, encoded slashes, CR/LF inside header values.
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, string Headers, string Body);

    public static async Task<Response> SendAsync(Uri server, string method, string target, IEnumerable<string> headers, string? body = null)
    {
        var request = new StringBuilder();
        request.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\n");
        request.Append("Host: ").Append(server.Authority).Append("\r\n");
        foreach (var header in headers)
        {
            request.Append(header).Append("\r\n");
        }

        var payload = body is null ? [] : Encoding.UTF8.GetBytes(body);
        if (body is not null)
        {
            request.Append("Content-Type: application/json\r\n");
            request.Append("Content-Length: ").Append(payload.Length).Append("\r\n");
        }

        request.Append("Connection: close\r\n\r\n");
        return await SendBytesAsync(server, [.. Encoding.ASCII.GetBytes(request.ToString()), .. payload]);
    }

    /// <summary>Sends <paramref name="request"/> as it is (a request line Kestrel cannot parse, raw bytes in the target) and reads the answer until the server closes.</summary>
    public static async Task<Response> SendBytesAsync(Uri server, byte[] request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(request);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = split < 0 ? text : text[..split];
        var status = int.Parse(head.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        return new Response(status, head, split < 0 ? "" : text[(split + 4)..]);
    }
}
