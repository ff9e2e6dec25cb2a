using System.Text;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

// The seed's first example on one node: create a port, send "example_payload", receive it.
using var identity = IdentityKeyPair.Generate();
await using var kernel = new PortKernel(identity.PeerId);
await using var task = kernel.CreateTask("quickstart");

var port = task.CreatePort();                       // pg_create_port
var send = task.MakeSend(port);                     // a send right to it (same name)
await task.SendMessageAsync(PortMessage.Create(send, "example_payload"u8.ToArray()));  // pg_send_message
using (var received = await task.ReceiveMessageAsync(port))                            // pg_receive_message
{
    Console.WriteLine($"received: {Encoding.UTF8.GetString(received.Payload.Span)}");
}

// Request/reply between two tasks through a send-once reply port.
await using var server = kernel.CreateTask("server");
var service = server.CreatePort();
var serviceSend = server.InsertRight(task, service, PortDisposition.MakeSend);

var serving = ServeOneAsync(server, service);
var replyPort = task.CreatePort();
var request = PortMessage.Create(serviceSend, "what time is it?"u8.ToArray(), messageId: 1);
request.ReplyPort = replyPort;
request.ReplyDisposition = PortDisposition.MakeSendOnce;
// Send the request and wait on the reply port in one call (mach_msg with send and receive).
using (var reply = await task.SendReceiveAsync(request, replyPort, TimeSpan.FromSeconds(5)))
{
    Console.WriteLine($"reply: {Encoding.UTF8.GetString(reply.Payload.Span)}");
}

await serving;
task.DestroyPort(port);                              // pg_destroy_port
Console.WriteLine($"port {port} destroyed; names left: {task.GetNames().Count}");

static async Task ServeOneAsync(PortTask server, PortName service)
{
    using var request = await server.ReceiveMessageAsync(service, TimeSpan.FromSeconds(5));
    Console.WriteLine($"server got: {Encoding.UTF8.GetString(request.Payload.Span)} (reply right: {server.GetRightTypes(request.ReplyPort)})");
    var reply = PortMessage.Create(request.ReplyPort, Encoding.UTF8.GetBytes($"it is {DateTimeOffset.UtcNow:HH:mm:ss} UTC"), request.MessageId + 100);
    reply.DestinationDisposition = PortDisposition.MoveSendOnce;
    await server.SendMessageAsync(reply);
}
