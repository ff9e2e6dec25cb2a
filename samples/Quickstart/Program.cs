System.Console.WriteLine("Quickstart: the port kernel sample arrives with the kernel.");
