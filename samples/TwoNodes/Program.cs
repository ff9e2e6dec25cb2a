using System.Diagnostics;
using System.Text;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node;
using PromiseGrid.Mesh.Ports;

// The seed's second example, across two processes: Node A sends "Hello, Node B!" to a port on
// Node B, which prints it.
//   dotnet run --project samples/TwoNodes                 starts Node B as a child process, then is Node A
//   dotnet run --project samples/TwoNodes -- --role b [--listen /ip4/127.0.0.1/tcp/4002]
//   dotnet run --project samples/TwoNodes -- --role a --peer <B's address> --port <B's port>
var timeout = TimeSpan.FromSeconds(30);
return Arg("--role") switch
{
    "b" => await RunNodeBAsync(Arg("--listen") ?? "/ip4/127.0.0.1/tcp/0"),
    "a" when Arg("--peer") is { } peer && Arg("--port") is { } port => await RunNodeAAsync(peer, port),
    null => await RunBothAsync(),
    _ => Usage(),
};

// Node B: publishes a port, prints its address and the port's reference, prints the first message.
async Task<int> RunNodeBAsync(string listen)
{
    using var identity = IdentityKeyPair.Generate();
    await using var node = await MeshNode.StartAsync(new MeshNodeOptions { Identity = identity, ListenAddresses = [Multiaddr.Parse(listen)] });
    await using var task = node.Kernel.CreateTask("node-b");
    var port = task.CreatePort();
    node.Ports.Publish(task, port, "hello");
    Console.WriteLine($"Node B address: {node.Host.ListenAddresses[0].WithPeerId(node.PeerId)}");
    Console.WriteLine($"Node B port: {node.Ports.GetPortRef(task, port)}");

    using var message = await task.ReceiveMessageAsync(port);
    Console.WriteLine($"Node B received: {Encoding.UTF8.GetString(message.Payload.Span)}");
    return 0;
}

// Node A: dials Node B, gets a send right to its published port, sends the greeting.
async Task<int> RunNodeAAsync(string peer, string portRef)
{
    using var identity = IdentityKeyPair.Generate();
    await using var node = await MeshNode.StartAsync(new MeshNodeOptions { Identity = identity });
    var address = Multiaddr.Parse(peer);
    await node.Host.DialAsync(address);
    node.Ports.PreferAddress(address);   // redial here if the connection breaks

    await using var task = node.Kernel.CreateTask("node-a");
    var send = await node.Ports.LookupAsync(task, PortRef.Parse(portRef), timeout);
    await task.SendMessageAsync(PortMessage.Create(send, "Hello, Node B!"u8.ToArray()), timeout);  // returns once B has it queued
    Console.WriteLine("Node A sent: Hello, Node B!");
    return 0;
}

// Both roles on loopback: Node B is this program again, as a child process.
async Task<int> RunBothAsync()
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
    {
        start.ArgumentList.Add(typeof(Program).Assembly.Location);   // run as `dotnet TwoNodes.dll`
    }

    start.ArgumentList.Add("--role");
    start.ArgumentList.Add("b");
    using var nodeB = Process.Start(start)!;
    try
    {
        string? address = null, portRef = null;
        while ((address is null || portRef is null) && await nodeB.StandardOutput.ReadLineAsync() is { } line)
        {
            Console.WriteLine(line);
            address ??= line.StartsWith("Node B address: ", StringComparison.Ordinal) ? line["Node B address: ".Length..] : null;
            portRef ??= line.StartsWith("Node B port: ", StringComparison.Ordinal) ? line["Node B port: ".Length..] : null;
        }

        if (address is null || portRef is null)
        {
            Console.Error.WriteLine("Node B did not start.");
            return 1;
        }

        await RunNodeAAsync(address, portRef);
        Console.Write(await nodeB.StandardOutput.ReadToEndAsync().WaitAsync(timeout));   // "Node B received: ..."
        await nodeB.WaitForExitAsync().WaitAsync(timeout);
        return nodeB.ExitCode;
    }
    finally
    {
        if (!nodeB.HasExited)
        {
            nodeB.Kill();
        }
    }
}

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

int Usage()
{
    Console.Error.WriteLine("usage: TwoNodes [--role b [--listen MA] | --role a --peer MA --port REF]");
    return 2;
}
